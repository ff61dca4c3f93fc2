from piiq.cli import main

main()
