-- Each service carries its e-Citizen serviceID, which every bill for it on
-- e-Citizen's payment platform names; empty means none yet, and such a
-- service cannot be billed through e-Citizen.
ALTER TABLE services ADD COLUMN ecitizen_service_id TEXT NOT NULL DEFAULT '';
