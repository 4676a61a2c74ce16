-- A tool page's grants, counted per browser network rather than per exact address: an IPv6
-- client is counted by its /64, as the lock-out and the connection limits count it
-- (service/tool_grants.rs). Counted per address, one IPv6 host (given a whole /64) held a
-- thousand grants from each of its addresses. Grants held at the upgrade keep their address as
-- their network; they end within hours.
ALTER TABLE tool_grants ADD COLUMN network TEXT NOT NULL DEFAULT '';
UPDATE tool_grants SET network = ip;
DROP INDEX tool_grants_by_ip;
CREATE INDEX tool_grants_by_network ON tool_grants (network, created_at);
