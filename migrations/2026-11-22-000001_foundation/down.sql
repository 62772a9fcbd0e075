DROP TRIGGER audit_events_no_update_or_delete ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_events;
DROP TABLE server_secrets;
DROP TABLE setup_tokens;
DROP TABLE login_throttle;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE organisations;
