"""One blueprint per page (or group of endpoints); each module exposes ``bp``."""
