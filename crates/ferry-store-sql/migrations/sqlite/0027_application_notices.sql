-- PostgreSQL's session cache learns of application changes through a notice (a disabled
-- application's sessions are refused); SQLite keeps no such cache. Kept so that both engines
-- number their migrations alike.
SELECT 1;
