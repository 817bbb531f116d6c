"""A console stand-in for tests that run a guest in-process: keeps every byte written to it."""


class Console:
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += bytes(b)
        return len(b)

    def flush(self):
        pass
