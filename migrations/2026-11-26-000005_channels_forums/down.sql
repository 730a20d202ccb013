DROP INDEX meetings_forum_idx;
DROP INDEX meetings_channel_idx;
DROP TABLE forum_members;
DROP TABLE forums;
DROP TABLE channel_history;
DROP TABLE channels;
