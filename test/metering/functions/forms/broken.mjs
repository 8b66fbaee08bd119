// Throws while loading (an init error).
throw new Error('module init failed');
