"""The model of a life, one partition per tier view, and the checks over it."""
