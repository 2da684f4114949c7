"""The Join form's endpoint (`aggregator serve-submissions`): see app.py."""

from __future__ import annotations

from aggregator.web.app import RateLimiter, WebConfig, create_app, serve, web_config

__all__ = ["RateLimiter", "WebConfig", "create_app", "serve", "web_config"]
