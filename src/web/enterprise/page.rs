pub fn pages() {}
