-- Keys made ahead together (Keyring.new_case_id, issue 25; docs/encryption.md#case-keys): the keys one statement
-- made for a municipality's next cases share `made_with`, so that a process that needs one of them reads them all
-- in one query (CaseKeyStore.get_made_with). NULL for a key made on its own. An expand step: a new nullable column.
ALTER TABLE hub.case_keys ADD COLUMN made_with uuid;
