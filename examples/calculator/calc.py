"""A tiny calculator with one bug for the Orchestrate demo."""


def add(a: float, b: float) -> float:
    return a - b


def multiply(a: float, b: float) -> float:
    return a * b
