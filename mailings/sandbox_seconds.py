"""What the sandbox provider accepted in each second: requests and SMS parts, as a provider
that caps an account at so many parts per second would count them (`GET /stats/seconds`).

A request counts in the second (Unix time, whole) it arrived, once it is accepted; its parts are
the text's, counted by `mailings.segments` as the back-office counts them.
"""

from collections import Counter

from mailings import segments


class PerSecond:
    def __init__(self) -> None:
        self.requests: Counter[int] = Counter()
        self.parts: Counter[int] = Counter()

    def add(self, *, arrived: float, text: str) -> None:
        second = int(arrived)
        self.requests[second] += 1
        self.parts[second] += segments.count(text).parts

    def series(self) -> list[dict]:
        """Every second from the first to the last with an accepted request, quiet ones as zeros."""
        if not self.requests:
            return []
        return [
            {"second": s, "requests": self.requests.get(s, 0), "parts": self.parts.get(s, 0)}
            for s in range(min(self.requests), max(self.requests) + 1)
        ]
