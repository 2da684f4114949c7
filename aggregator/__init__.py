"""The aggregator: member feeds in, one Markdown file per post out.

The public surface is small; the stages live in modules named after them
(`members`, `fetch`, `parse`, `clean`, `convert`, `entries`, `write`, `state`, `run`, `cli`).
See docs/architecture.md.
"""

from aggregator.errors import AggregatorError, ConfigError, FeedError

__all__ = ["AggregatorError", "ConfigError", "FeedError"]
__version__ = "0.1.0"
