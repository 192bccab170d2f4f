-- The refund_velocity fraud rule (a buyer refunding more than N orders in a window; ClickHouse
-- migration 0016 adds its platform setting to fraud_rules): organizers may override it like the
-- other rules.
ALTER TABLE fraud_rule_overrides DROP CONSTRAINT fraud_rule_overrides_rule_check;
ALTER TABLE fraud_rule_overrides ADD CONSTRAINT fraud_rule_overrides_rule_check
  CHECK (rule IN ('large_amount', 'velocity', 'unusual_location', 'refund_velocity'));
