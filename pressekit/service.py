"""`pressekit.service:create_app(site_dir)`: the subscription service as a WSGI app for any server."""

from .subscriptions.service import create_app

__all__ = ["create_app"]
