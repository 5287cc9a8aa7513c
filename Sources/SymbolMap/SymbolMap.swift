public enum SymbolMapModule {}
