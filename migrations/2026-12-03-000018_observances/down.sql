DROP TABLE observances;
