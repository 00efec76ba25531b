"""Go offline / go online: the offline store, its change queue, the download, the replay and the refresh."""
