"""A package run with `-m`: the runner records modules too."""
