DROP TABLE occurrence_answers;
