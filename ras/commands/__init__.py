"""One runner per command: each only puts the stages in order."""
