/**
 * The `rules` role: the fraud rules, the capacity alerts, the refund booker and the dedup horizon job, run by one
 * leader at a time among the processes that run it (a Postgres advisory lock).
 */
import { createCapacityAlertRunner } from '../capacity/alert-runner.js';
import type { Config } from '../config.js';
import { createDedupHorizon } from '../dedup/horizon-rotation.js';
import { createFraudRuleRunner } from '../fraud/rule-runner.js';
import { createLeaderElection } from '../lifecycle/leader-election.js';
import { createRefundBooker } from '../refunds/refund-booker.js';
import type { RoleHandle, SharedClients } from './role.js';

/** Advisory lock key of the rules leader (any fixed number unlike the migrator's). */
export const RULES_LEADER_LOCK = 7_263_514_202;

export function createRulesRole(config: Config, shared: SharedClients): RoleHandle {
  const { clickhouse, logger } = shared;
  const database = config.CLICKHOUSE_DATABASE;
  const election = createLeaderElection({
    pool: shared.pool,
    lockKey: RULES_LEADER_LOCK,
    logger,
    checkIntervalMs: config.LEADER_CHECK_INTERVAL_MS,
    lead: function startRules() {
      const jobs = [
        createFraudRuleRunner({
          clickhouse,
          database,
          logger,
          intervalMs: config.FRAUD_RULES_INTERVAL_MS,
          lagMs: config.FRAUD_RULES_LAG_MS,
        }),
        createCapacityAlertRunner({
          clickhouse,
          database,
          logger,
          intervalMs: config.CAPACITY_ALERTS_INTERVAL_MS,
        }),
        createRefundBooker({
          clickhouse,
          database,
          logger,
          intervalMs: config.REFUND_BOOKER_INTERVAL_MS,
          waitSeconds: Math.round(config.REFUND_WAIT_HOURS * 3600),
        }),
        createDedupHorizon({
          clickhouse,
          database,
          cluster: config.CLICKHOUSE_CLUSTER,
          serversCluster: config.CLICKHOUSE_SERVERS_CLUSTER,
          logger,
          checkIntervalMs: config.DEDUP_CHECK_INTERVAL_MS,
        }),
      ];
      for (const job of jobs) job.start();
      return {
        async close() {
          await Promise.allSettled(jobs.map((job) => job.close()));
        },
      };
    },
  });
  return {
    role: 'rules',
    async start() {
      election.start();
    },
    close: () => election.close(),
  };
}
