DROP TABLE credential_refusals;
DROP TABLE credential_usage;
