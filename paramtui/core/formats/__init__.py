"""One module per checkpoint format; `detect.open_path` walks the ordered table in
registry.py and opens a path with the first format that recognises it."""
