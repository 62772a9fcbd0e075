-- What an endpoint answered to each attempt, cut to 4 KB, so its page can show each
-- delivery's request and response (issue 24). Nullable and without a default: adding it
-- rewrites nothing.
ALTER TABLE webhook_attempts
    ADD COLUMN response_body text CHECK (octet_length(response_body) <= 4096);
