-- Full-text search over comments (issue 5: "subject, description and comments"): a generated
-- tsvector over the body, folded and tokenized as tickets.search_vector is, with a GIN index.
-- A search joins a comment's match to its ticket, and leaves internal notes out for those who
-- may not read them (services::tickets::list). Deleting a comment empties its body, so a
-- deleted comment is found by nothing. Comment words are not added to search_words: that
-- table suggests corrections, and a suggestion must not reveal a word of an internal note.
ALTER TABLE comments ADD COLUMN search_vector TSVECTOR GENERATED ALWAYS AS (
    to_tsvector('simple', translate(lower(left(body, 100000)),
        'àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżž', 'aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz'))
) STORED;
CREATE INDEX comments_search ON comments USING GIN (search_vector);
