public enum ProfileModule {}
