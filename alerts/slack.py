"""The one Slack client: posts a message with slack-sdk (Web API chat.postMessage with a bot token, or an
incoming webhook), at most one message per second per channel, honouring Retry-After on 429."""

from __future__ import annotations

import time
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from alerts.config import AlertConfig
from alerts.render import Message
from gtm.errors import redact

AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "invalid_token",
}


class SlackSendError(Exception):
    """A message that was not posted; its text is one redacted line."""

    def __init__(self, reason: str, auth: bool = False) -> None:
        super().__init__(redact(reason))
        self.auth = auth


class SlackClient:
    """Posts messages; ``post`` returns Slack's ts (None for webhooks) or raises SlackSendError."""

    def __init__(self, config: AlertConfig) -> None:
        retry_handlers = [
            RateLimitErrorRetryHandler(max_retry_count=config.max_retries),
            ServerErrorRetryHandler(max_retry_count=config.max_retries),
        ]
        self.config = config
        # slack-sdk annotates timeout as int; urllib takes seconds as a float.
        timeout: int = config.timeout  # type: ignore[assignment]
        self.web: WebClient | None = None
        self.webhook: WebhookClient | None = None
        if config.bot_token:
            self.web = WebClient(
                token=config.bot_token,
                base_url=config.api_url,
                timeout=timeout,
                retry_handlers=retry_handlers,
            )
        else:
            self.webhook = WebhookClient(
                config.webhook_url or "", timeout=timeout, retry_handlers=retry_handlers
            )
        self.last_post: dict[str, float] = {}

    def _pace(self, channel: str) -> None:
        """Slack allows about one message per second per channel; wait for this channel's turn."""
        last = self.last_post.get(channel)
        if last is not None:
            wait = self.config.min_interval - (time.monotonic() - last)
            if wait > 0:
                time.sleep(wait)
        self.last_post[channel] = time.monotonic()

    def post(self, message: Message) -> str | None:
        channel = message.channel if self.web else "webhook"
        self._pace(channel)
        try:
            return self._post_web(message) if self.web else self._post_webhook(message)
        except SlackApiError as exc:
            raise describe_api_error(exc) from None
        except TimeoutError:
            raise SlackSendError(f"Slack did not answer within {self.config.timeout:g}s") from None
        except URLError as exc:
            raise SlackSendError(f"cannot reach Slack: {exc.reason}") from None
        except (SlackClientError, OSError) as exc:
            raise SlackSendError(f"Slack request failed: {type(exc).__name__}: {exc}") from None

    def _post_web(self, message: Message) -> str | None:
        assert self.web is not None
        response = self.web.chat_postMessage(
            channel=message.channel, text=message.text, blocks=message.blocks
        )
        return str(response["ts"])

    def _post_webhook(self, message: Message) -> str | None:
        assert self.webhook is not None
        response = self.webhook.send(text=message.text, blocks=message.blocks)
        if response.status_code != 200:
            body = (response.body or "").strip()[:200]
            raise SlackSendError(
                f"the incoming webhook answered {response.status_code} {body}", auth=body in AUTH_ERRORS
            )
        return None


def describe_api_error(exc: SlackApiError) -> SlackSendError:
    response = exc.response
    status = response.status_code
    error = response.get("error") if isinstance(response.data, dict) else None
    if error in AUTH_ERRORS:
        return SlackSendError(f"Slack rejected SLACK_BOT_TOKEN ({error})", auth=True)
    if status == 429:
        retry_after = response.headers.get("retry-after") or response.headers.get("Retry-After")
        return SlackSendError(
            f"Slack rate-limited the message (429, Retry-After {retry_after}s) after retries"
        )
    if error:
        return SlackSendError(f"Slack answered {status} {error}")
    return SlackSendError(f"Slack answered HTTP {status}")
