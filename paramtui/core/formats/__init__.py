"""One module per checkpoint format; `detect.open_path` picks the right one by content."""
