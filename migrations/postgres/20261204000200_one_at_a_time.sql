-- One applying plugin operation per tenant and one running rollout per plugin, held by the
-- database rather than by a read before the insert (two nodes could both read "none").
-- Any duplicates an earlier race left are settled first: the newest one stays.
UPDATE plugin_operations SET state = 'rolled_back', error = 'superseded by a newer operation'
 WHERE state = 'applying'
   AND EXISTS (SELECT 1 FROM plugin_operations newer
                WHERE newer.tenant_id = plugin_operations.tenant_id AND newer.state = 'applying'
                  AND (newer.started_at > plugin_operations.started_at
                       OR (newer.started_at = plugin_operations.started_at AND newer.id > plugin_operations.id)));
CREATE UNIQUE INDEX plugin_operations_one_applying ON plugin_operations (tenant_id) WHERE state = 'applying';

UPDATE plugin_rollouts SET state = 'halted', note = 'superseded by a newer rollout'
 WHERE state IN ('active', 'paused')
   AND EXISTS (SELECT 1 FROM plugin_rollouts newer
                WHERE newer.plugin_id = plugin_rollouts.plugin_id AND newer.state IN ('active', 'paused')
                  AND (newer.started_at > plugin_rollouts.started_at
                       OR (newer.started_at = plugin_rollouts.started_at AND newer.version > plugin_rollouts.version)));
CREATE UNIQUE INDEX plugin_rollouts_one_running ON plugin_rollouts (plugin_id) WHERE state IN ('active', 'paused');
