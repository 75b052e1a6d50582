"""Reader-facing pages, one module per concept: `joining` (landing, sign-in, invitations, profile), `reading`
(the first reading: start, test items, review, thanks), `practice`, `pairs` (2AFC: a pair side by side), `rounds` (repeat reading), `answers` (pixels
and answers, what the page's script fetches and posts), `slice_page` (the one slice page all rounds share) and
`base` (the frame: Content-Security-Policy, no caching, the reader's own assignment only).

A reader reaches only their own assignment (anything else is a 404), and nothing a reader receives names the
truth, a dataset, the model or where a slice came from."""

from studies.views.answers import item_pixels, submit_answer
from studies.views.joining import ReaderLoginView, home, join, profile, reader_login
from studies.views.pairs import pair_page, submit_pair_answer
from studies.views.practice import practice_over, practice_page
from studies.views.reading import item_page, review, start, thanks
from studies.views.rounds import repeat_page, repeat_review

__all__ = [
    "ReaderLoginView",
    "home",
    "item_page",
    "item_pixels",
    "pair_page",
    "join",
    "practice_over",
    "practice_page",
    "profile",
    "reader_login",
    "repeat_page",
    "repeat_review",
    "review",
    "start",
    "submit_answer",
    "submit_pair_answer",
    "thanks",
]
