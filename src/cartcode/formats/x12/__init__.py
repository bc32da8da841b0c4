"""X12 837I/837P: tokenizer, envelope and claim reading, streaming, the --fix writer and pyx12's
strict pass. ``read`` / ``read_stream`` / ``iter_files`` turn bytes into claims with locations."""

from cartcode.formats.x12._reader import iter_files, read, read_stream

__all__ = ["iter_files", "read", "read_stream"]
