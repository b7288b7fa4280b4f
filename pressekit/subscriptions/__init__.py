"""Subscriptions: editors subscribe, choose topics, confirm and leave by themselves, with proof of consent.

The store (`store`), the signed links (`tokens`), the web service (`service.create_app`), the
double-opt-in mail (`mailer`), the office's commands (`commands`) and the recipient source of
`pressekit send` without `--to` (`audience`).
"""
