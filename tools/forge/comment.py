"""The bot's one comment per issue and purpose, found again by a hidden marker (an HTML comment
GitHub does not render): created once, then edited only when its text changes, so a repeated,
resumed or restarted job edits it instead of posting another."""
from __future__ import annotations

from github import UnknownObjectException


def is_marked(comment, marker: str) -> bool:
    """Whether `comment` is the bot's comment carrying `marker` (a person quoting it does not count)."""
    return marker in (comment.body or "") and comment.user.type == "Bot"


def find_marked(issue, marker: str, comment_id: int | None = None):
    """The comment `comment_id` if it still exists, else the bot's comment carrying `marker`, else None."""
    if comment_id:
        try:
            return issue.get_comment(comment_id)
        except UnknownObjectException:
            pass  # someone deleted it: look for another, or post a new one
    return next((c for c in issue.get_comments() if is_marked(c, marker)), None)


class MarkerComment:
    """`marker` and a text, shown on `issue` in `comment` (None: not posted yet)."""

    def __init__(self, issue, marker: str, comment=None):
        self.issue, self.marker, self.comment = issue, marker, comment
        self._shown = comment.body if comment is not None else None

    @property
    def id(self) -> int | None:
        return self.comment.id if self.comment is not None else None

    def show(self, text: str) -> bool:
        """Show `text` under the marker; False when it is shown already (no API call is made)."""
        body = f"{self.marker}\n{text}"
        if body == self._shown:
            return False
        if self.comment is None:
            self.comment = self.issue.create_comment(body)
        else:
            self.comment.edit(body)
        self._shown = body
        return True
