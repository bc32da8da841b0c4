"""Rules: MS-DRG grouping and the Medicare Code Editor (CMS's definitions, through cartcode.grouping)."""
