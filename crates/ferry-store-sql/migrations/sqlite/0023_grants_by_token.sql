-- A tool token's grants, counted and the oldest given way when one token holds too many
-- (service/tool_grants.rs: one link opened from many addresses must not fill the table).
CREATE INDEX tool_grants_by_token ON tool_grants (token_digest, created_at);
