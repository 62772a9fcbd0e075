ALTER TABLE access_tokens RESET (
    autovacuum_vacuum_scale_factor,
    autovacuum_vacuum_threshold,
    autovacuum_vacuum_insert_scale_factor,
    autovacuum_vacuum_insert_threshold
);
DROP TABLE token_sweep_progress;
DROP TABLE limit_windows;
