-- Corrections made at the node (issue 14, FLK): the MO's executor changed one element of
-- one record of a package with FLK errors; the corrected copy is a new package
-- (package_id), registered and controlled as an upload is, the package it corrects kept
-- unchanged. A package is corrected at most once (corrects_package_id is unique): a
-- further correction is made on the new package.
CREATE TABLE claims_package_corrections (
    package_id BIGINT PRIMARY KEY NOT NULL REFERENCES claims_packages (id),
    corrects_package_id BIGINT NOT NULL UNIQUE REFERENCES claims_packages (id),
    n_zap TEXT NOT NULL,
    element TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL
);
