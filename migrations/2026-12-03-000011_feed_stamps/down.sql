DROP TABLE feed_stamps;
