-- Tokens carry the generation of their user's credentials (claim `gen`); a password reset raises
-- it, which ends every token issued before, on every instance at once. Tokens without the claim
-- count as generation 0.
ALTER TABLE users ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
