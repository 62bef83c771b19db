-- 0009_case_disputes.sql - the supplier side of after-sales cases
-- (docs/supplier-api.md "Disputes and refunds", server/workflow/wf_case_supplier.c):
-- what the supplier last said about the dispute of a DISPUTE case, and the
-- refund it reported. cases.supplier_dispute_id / _status (0007) hold the
-- dispute id and status text; case_refunds.supplier_refund_id / _status
-- (0007) the supplier's answer to a SUPPLIER-paid refund claim.
--
--   supplier_dispute_message      the supplier's last message ('' = none)
--   supplier_dispute_refund_*     the amount the supplier refunded (status
--                                 REFUNDED); currency '' = none
--   supplier_dispute_refund_id    the supplier's refund transaction id
--   supplier_dispute_update_time  when the server last saw the dispute change

ALTER TABLE cases
    ADD COLUMN supplier_dispute_message text NOT NULL DEFAULT '',
    ADD COLUMN supplier_dispute_refund_currency text NOT NULL DEFAULT ''
        CHECK (supplier_dispute_refund_currency ~ '^([A-Z]{3})?$'),
    ADD COLUMN supplier_dispute_refund_units int8 NOT NULL DEFAULT 0
        CHECK (supplier_dispute_refund_units >= 0),
    ADD COLUMN supplier_dispute_refund_nanos int4 NOT NULL DEFAULT 0
        CHECK (supplier_dispute_refund_nanos BETWEEN 0 AND 999999999),
    ADD COLUMN supplier_dispute_refund_id text NOT NULL DEFAULT '',
    ADD COLUMN supplier_dispute_update_time timestamptz;
