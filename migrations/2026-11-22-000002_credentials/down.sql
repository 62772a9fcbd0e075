DROP TABLE credential_apis;
DROP TABLE credentials;
DROP TABLE role_apis;
DROP TABLE roles;
DROP TABLE apis;
