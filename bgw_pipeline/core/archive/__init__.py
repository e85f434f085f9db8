"""The archive format: members and metadata.json (format), the writer, the reader with its
safety limits, verification against the checksum, and validation of every row."""
