-- The id tables of interactions and metrics were only the dedup views' memory; since 0011 the
-- Set tables <stream>_seen_0..3 are, so these stopped being read and would only grow.
-- (`ticket_sales_ids` stays: the fraud rules read new sales from it.)

DROP TABLE IF EXISTS {database}.user_interactions_ids_mv {on_cluster};

DROP TABLE IF EXISTS {database}.user_interactions_ids {on_cluster};

DROP TABLE IF EXISTS {database}.system_metrics_ids_mv {on_cluster};

DROP TABLE IF EXISTS {database}.system_metrics_ids {on_cluster};
