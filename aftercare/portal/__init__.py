"""What patients reach through their emailed link, without logging in.

`links` issues, checks and revokes link tokens (only their hash is stored); `session`
is the patients' own session cookie; `page_link` loads a page's link in one query;
`ratelimit` limits bad links per client address; `views` and `urls` are the pages
under /p/, including unsubscribing.
"""
