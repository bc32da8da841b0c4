"""The web layer of `cartcode serve`: request/response models, middleware, logging, and the
coders' page (``static/``: plain HTML, JS and CSS shipped in the package, no build step)."""
