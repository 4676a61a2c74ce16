-- The application of the session that impersonated a session's user (`OpenImmutableImpersonate`
-- may open the new session under another application ID): the session check refuses an
-- impersonated session while that application is disabled, as it refuses the application's
-- own sessions (0027). NULL when not impersonated, and in rows written before it was kept.
ALTER TABLE sessions ADD COLUMN impersonator_application_id INTEGER;
