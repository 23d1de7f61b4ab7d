-- The Russian comment of a package refused whole (F012 801–805, issue 14): the `V`
-- protocol's COMMENT and the Russian pages show it, as they show the findings' comment_ru.
-- Packages refused before this migration keep NULL (their English comment is shown).
ALTER TABLE claims_packages ADD COLUMN refusal_comment_ru TEXT;
