-- The vocabulary in byte order, so the words a typed prefix begins are a range scan
-- (`word COLLATE "C" >= 'prin' AND word COLLATE "C" < 'prin' || U+10FFFF`) whatever the
-- database's collation: a search turns a short prefix into the words it begins
-- (services/src/tickets.rs, `prefix_match`), and the corrections of a mistyped word read
-- the words of one first letter. Without it both read the whole vocabulary.
CREATE INDEX search_words_in_byte_order ON search_words (word COLLATE "C");
