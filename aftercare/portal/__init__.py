"""What patients reach through their emailed link, without logging in.

`session` is the patients' own session cookie (the link tokens themselves are
aftercare.links, shared with the emails); `ratelimit` limits bad links per client address;
`views` and `urls` are the pages under /p/, including unsubscribing.
"""
