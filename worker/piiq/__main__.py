from piiq.launcher import main

main()
